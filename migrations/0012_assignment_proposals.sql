-- Proposals of the nearby-assignment rule (就近就便): what the rule would
-- assign, kept for planners to review (the whole answer, with the solver's
-- figures and each place's explanation) and applied, or not, in one go.
-- `basis` fingerprints the assignments it was made on: once they change, the
-- proposal is stale and cannot be applied.
CREATE TABLE assignment_proposals (
    id         uuid PRIMARY KEY,
    params     jsonb NOT NULL,
    basis      text NOT NULL,
    body       jsonb NOT NULL,
    created_by uuid NOT NULL REFERENCES people (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    applied_at timestamptz,
    applied_by uuid REFERENCES people (id),
    CHECK ((applied_at IS NULL) = (applied_by IS NULL))
);
