"""Feedback on interviews: rubric scores with quoted evidence, coverage of the job's
requirements, and delivery metrics from word timings."""
