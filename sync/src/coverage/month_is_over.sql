SELECT month_is_over($1)
