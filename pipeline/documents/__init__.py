"""Resumes and job descriptions: reading uploaded files, and parsing them into records.

``extract`` tells a PDF from a DOCX by its bytes and reads its text within limits;
``resume_parser`` and ``job_parser`` parse offline with rules; ``llm`` parses with a chat
model's JSON-schema output; ``parser.DocumentParser`` chooses between them for the server.
"""
