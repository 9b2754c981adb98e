-- Photos declared more than $1 days ago whose bytes never came.
SELECT p.id, pe.username, p.declared_at FROM photos p JOIN people pe ON pe.id = p.person_id
WHERE p.status = 'declared' AND p.declared_at < now() - make_interval(days => $1) ORDER BY p.declared_at
