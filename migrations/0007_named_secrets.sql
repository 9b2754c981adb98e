-- One table of named secrets: the JWT signing key (a PEM), and the HMAC keys
-- of pull cursors and photo URLs (base64). They lived in `signing_keys` with
-- the value in a column called `private_pem`, which only the JWT key is.
-- Renamed in place, so every stored value stays and tokens, cursors and
-- signed URLs issued before the upgrade stay valid.
ALTER TABLE signing_keys RENAME TO secrets;
ALTER TABLE secrets RENAME COLUMN id TO name;
ALTER TABLE secrets RENAME COLUMN private_pem TO value;
ALTER INDEX signing_keys_pkey RENAME TO secrets_pkey;
COMMENT ON TABLE secrets IS 'Named server secrets shared by every API instance, created on first use';
