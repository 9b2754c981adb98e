-- The next changes of every bucket a device carries, after its position in
-- each, in one round trip. Only rows written by transactions below the
-- snapshot's xmin ($4) are returned: every such transaction has finished, so
-- nothing can still appear below the new position later. `limit` ($5) is per
-- bucket; the caller cuts the total to the page size in bucket order.
SELECT b.bucket, c.xid::text::bigint AS xid, c.seq, c.entity, c.entity_id, c.op, c.version
FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS b(bucket, xid, seq, ord)
CROSS JOIN LATERAL (
    SELECT xid, seq, entity, entity_id, op, version
    FROM sync_changes
    WHERE bucket = b.bucket
      AND (xid, seq) > (b.xid::text::xid8, b.seq)
      AND xid < $4::text::xid8
    ORDER BY xid, seq
    LIMIT $5
) c
ORDER BY b.ord, c.xid, c.seq
