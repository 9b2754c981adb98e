-- One vector tile of the coverage: the function Martin could serve as well.
SELECT coverage_tile($1, $2, $3, $4::json)
