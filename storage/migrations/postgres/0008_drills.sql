-- Drills: a one-question interview that practises a question of an earlier interview
-- again. drill_of is that earlier interview (the first attempt; a drill of a drill points
-- to the same one) and drill_question the index of the question in its plan. Deleting the
-- first attempt leaves the drills, still grouped with each other.
ALTER TABLE interviews ADD COLUMN drill_of TEXT;
ALTER TABLE interviews ADD COLUMN drill_question INTEGER;
CREATE INDEX interviews_drill_idx ON interviews (user_id, drill_of, drill_question);
