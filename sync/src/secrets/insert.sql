-- The first instance to ask creates the secret; later ones keep the stored value.
INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING
