-- A new assignment, a planner's (`manual`) or the nearby rule's (`rule`);
-- from today (Asia/Shanghai) unless said otherwise.
INSERT INTO assignments (id, person_id, place_id, valid_from, valid_to, source, locked)
VALUES ($1, $2, $3, coalesce($4, (now() AT TIME ZONE 'Asia/Shanghai')::date), $5, $7, $6)
