"""The parsing benchmark's job descriptions, as pasted, with their ground truth."""

from __future__ import annotations

from typing import Any

JOB_FILES: dict[str, tuple[str, dict[str, Any]]] = {
    "01_backend.txt": (
        """Senior Backend Engineer — Globex

About Globex
Globex builds payment infrastructure for online marketplaces in 30 countries.

What you'll do
• Design and build APIs that move money reliably at scale
• Own services from design through on-call
• Mentor engineers and review code

What we're looking for
• 5+ years building backend services in Python or Go
• Deep experience with PostgreSQL and Redis
• Experience running services on Kubernetes in AWS
• Clear written communication

Nice to have
• Experience with Kafka or other event streaming systems
• Familiarity with Terraform

Benefits
• Remote-friendly, with offices in Berlin and Austin
• Learning budget of $2,000 a year
""",
        {
            "title": "Senior Backend Engineer",
            "company": "Globex",
            "responsibilities": [
                "Design and build APIs that move money reliably at scale",
                "Own services from design through on-call",
                "Mentor engineers and review code",
            ],
            "requirements": [
                "5+ years building backend services in Python or Go",
                "Deep experience with PostgreSQL and Redis",
                "Experience running services on Kubernetes in AWS",
                "Clear written communication",
                "Experience with Kafka or other event streaming systems",
                "Familiarity with Terraform",
            ],
            "skills": [
                "Python", "Go", "PostgreSQL", "Redis", "Kubernetes", "AWS", "Kafka",
                "Terraform", "Communication", "Code Review",
            ],
        },
    ),
    "02_analyst.txt": (
        """Job Title: Data Analyst
Company: Northwind Traders
Location: Chicago, IL (Hybrid)

Northwind Traders is looking for a data analyst to join our commercial insights team.

Responsibilities:
- Build and maintain dashboards in Tableau for the sales and supply chain teams
- Write SQL queries to answer ad-hoc business questions
- Design and analyse A/B tests with product managers
- Present findings to senior stakeholders

Requirements:
- 2+ years of experience in data analysis
- Strong SQL and Excel skills
- Experience with Python or R for statistics
- Excellent communication skills

Preferred:
- Experience with Snowflake or BigQuery
""",
        {
            "title": "Data Analyst",
            "company": "Northwind Traders",
            "responsibilities": [
                "Build and maintain dashboards in Tableau for the sales and supply chain teams",
                "Write SQL queries to answer ad-hoc business questions",
                "Design and analyse A/B tests with product managers",
                "Present findings to senior stakeholders",
            ],
            "requirements": [
                "2+ years of experience in data analysis",
                "Strong SQL and Excel skills",
                "Experience with Python or R for statistics",
                "Excellent communication skills",
                "Experience with Snowflake or BigQuery",
            ],
            "skills": [
                "Tableau", "SQL", "A/B Testing", "Data Analysis", "Excel", "Python", "R",
                "Statistics", "Communication", "Snowflake", "BigQuery", "Supply Chain",
            ],
        },
    ),
    "03_nurse.txt": (
        """Registered Nurse at Mercy General Hospital

Mercy General Hospital is a 400-bed teaching hospital in Sacramento, CA.

Duties
Provide direct patient care on a busy medical-surgical unit. Administer medications \
and monitor patient responses. Document care accurately in our electronic health records \
system (Epic). Educate patients and families before discharge.

Qualifications
• Current California RN license
• BLS and ACLS certification
• One year of acute care experience preferred
• Strong teamwork and time management
""",
        {
            "title": "Registered Nurse",
            "company": "Mercy General Hospital",
            "responsibilities": [
                "Provide direct patient care on a busy medical-surgical unit.",
                "Administer medications and monitor patient responses.",
                "Document care accurately in our electronic health records system (Epic).",
                "Educate patients and families before discharge.",
            ],
            "requirements": [
                "Current California RN license",
                "BLS and ACLS certification",
                "One year of acute care experience preferred",
                "Strong teamwork and time management",
            ],
            "skills": [
                "Patient Care", "Electronic Health Records", "CPR", "Teamwork",
                "Time Management",
            ],
        },
    ),
    "04_designer.txt": (
        """We're hiring: Product Designer

At Initech, we make scheduling software for hospitals and clinics.

The role
- Lead design for our mobile scheduling app, from research to polished UI
- Run usability tests with nurses and doctors
- Contribute to our design system

You have
- A portfolio showing shipped product work
- 3+ years of experience in UX Design and UI Design
- Comfort with prototyping and user research
- Experience designing for accessibility (WCAG)

Tools: Figma, Sketch, Jira
""",
        {
            "title": "Product Designer",
            "company": "Initech",
            "responsibilities": [
                "Lead design for our mobile scheduling app, from research to polished UI",
                "Run usability tests with nurses and doctors",
                "Contribute to our design system",
            ],
            "requirements": [
                "A portfolio showing shipped product work",
                "3+ years of experience in UX Design and UI Design",
                "Comfort with prototyping and user research",
                "Experience designing for accessibility (WCAG)",
            ],
            "skills": [
                "UX Design", "UI Design", "Prototyping", "User Research", "Accessibility",
                "Figma", "Sketch", "Jira",
            ],
        },
    ),
}  # fmt: skip
