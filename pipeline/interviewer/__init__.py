"""The interviewer: LLM clients with fallback, and the offline planner."""
