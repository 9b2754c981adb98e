-- A workflow step's change. `$7` whether the reason is set (to `$8`).
UPDATE issues SET state = $2,
    answer = coalesce($3, answer), answered_on = coalesce($4, answered_on),
    satisfaction = coalesce($5, satisfaction), closed_out_at = coalesce($6, closed_out_at),
    reason = CASE WHEN $7 THEN $8 ELSE reason END,
    merged_into = coalesce($9, merged_into),
    updated_at = now(), version = version + 1
WHERE id = $1
RETURNING version
