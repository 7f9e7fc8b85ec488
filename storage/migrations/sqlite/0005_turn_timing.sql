-- When each question ended in the candidate's audio, and how long it played, so that
-- "time to first word" and talk ratio are measured instead of estimated.
ALTER TABLE interview_turns ADD COLUMN question_end_s REAL;
ALTER TABLE interview_turns ADD COLUMN question_audio_s REAL;
