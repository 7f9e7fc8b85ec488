"""Resumes and job descriptions: reading uploaded files, and parsing them into records.

``extract`` tells a PDF from a DOCX by its bytes and reads its text within limits;
``heuristic`` parses offline with rules; ``llm`` parses with a chat model's JSON-schema
output; ``parser.DocumentParser`` chooses between them for the server.
"""
