-- Answers whether the person exists; `changed` is false when they were inactive already.
WITH changed AS (
    UPDATE people SET active = false, version = version + 1, updated_at = now()
    WHERE id = $1 AND active
    RETURNING id
)
SELECT EXISTS (SELECT FROM changed) OR EXISTS (SELECT FROM people WHERE id = $1)
