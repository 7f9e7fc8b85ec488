"""The people of the parsing benchmark's resumes: what each resume says, and so its
ground truth (``Resume.truth``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Position:
    title: str
    company: str
    start: str  # normalized: YYYY-MM, YYYY
    end: str  # normalized, or "present"
    dates: str  # as written
    highlights: list[str]
    location: str = ""


@dataclass
class School:
    degree: str
    school: str
    dates: str


@dataclass
class Resume:
    name: str
    email: str
    phone: str
    location: str
    links: list[str]
    summary: str
    positions: list[Position]
    schools: list[School]
    skills: dict[str, list[str]]  # category (may be "") -> skills
    achievements: list[str]
    written_name: str = ""  # how the name is printed, when not as in ``name``
    extra: dict[str, list[str]] = field(default_factory=dict)  # other sections

    def truth(self) -> dict[str, Any]:
        return {
            "personal": {
                "name": self.name,
                "email": self.email,
                "phone": self.phone,
                "location": self.location,
                "links": self.links,
            },
            "experience": [
                {"title": p.title, "company": p.company, "start": p.start, "end": p.end}
                for p in self.positions
            ],
            "education": [
                {"degree": s.degree, "school": s.school, "dates": s.dates} for s in self.schools
            ],
            "skills": [skill for group in self.skills.values() for skill in group],
            "achievements": self.achievements,
        }


# The people -----------------------------------------------------------------------------

PRIYA = Resume(
    name="Priya Raman",
    email="priya.raman@example.com",
    phone="(512) 555-0142",
    location="Austin, TX",
    links=["linkedin.com/in/priyaraman", "github.com/praman"],
    summary="Backend engineer with eight years of experience building payment systems.",
    positions=[
        Position(
            "Senior Software Engineer",
            "Stripe",
            "2020-01",
            "present",
            "Jan 2020 – Present",
            [
                "Led the migration of the ledger service to event sourcing, cutting "
                "reconciliation time from six hours to twenty minutes.",
                "Mentored five engineers and ran the backend interview loop.",
                "Designed an idempotency layer used by 40 internal services.",
            ],
        ),
        Position(
            "Software Engineer",
            "Indeed",
            "2016-06",
            "2019-12",
            "Jun 2016 – Dec 2019",
            [
                "Built the job-alert pipeline that sends 30 million e-mails a day.",
                "Reduced p99 search latency by 45% with a caching tier.",
            ],
        ),
        Position(
            "Software Engineering Intern",
            "Dell Technologies",
            "2015-05",
            "2015-08",
            "May 2015 – Aug 2015",
            ["Automated firmware test reports."],
        ),
    ],
    schools=[School("B.S. in Computer Science", "University of Texas at Austin", "2012 – 2016")],
    skills={
        "Languages": ["Python", "Go", "Java", "SQL"],
        "Infrastructure": ["PostgreSQL", "Kafka", "Kubernetes", "AWS", "Terraform"],
    },
    achievements=[
        "Stripe Engineering Excellence Award, 2022",
        "Speaker at PyCon US 2021: Idempotency in practice",
    ],
)

MARCUS = Resume(
    name="Marcus Okafor",
    email="marcus.okafor@example.org",
    phone="+1 415 555 0199",
    location="San Francisco, CA",
    links=["https://marcusokafor.dev"],
    summary="Product designer who ships: research, interaction design and design systems.",
    positions=[
        Position(
            "Lead Product Designer",
            "Figma",
            "2021-03",
            "present",
            "03/2021 – Present",
            [
                "Own the design system used by 120 designers and engineers.",
                "Ran 60 user interviews to redesign the onboarding flow; activation rose 18%.",
            ],
        ),
        Position(
            "Product Designer",
            "Airbnb",
            "2017-08",
            "2021-02",
            "08/2017 – 02/2021",
            [
                "Designed the host calendar used by four million hosts.",
                "Partnered with research on accessibility audits of the booking flow.",
            ],
        ),
    ],
    schools=[School("BFA in Interaction Design", "California College of the Arts", "2013 – 2017")],
    skills={
        "": [
            "Figma",
            "Prototyping",
            "User Research",
            "Design Systems",
            "Accessibility",
            "HTML",
            "CSS",
        ]
    },
    achievements=["Red Dot Design Award 2020", "Featured in Smashing Magazine, 2019"],
)

ELENA = Resume(
    name="Elena Petrova",
    email="elena.petrova@example.net",
    phone="+44 20 7946 0958",
    location="London, UK",
    links=["linkedin.com/in/elenapetrova"],
    summary="Data scientist focused on forecasting and experimentation.",
    positions=[
        Position(
            "Senior Data Scientist",
            "Monzo",
            "2020-04",
            "present",
            "April 2020 – Present",
            [
                "Built the demand-forecasting models behind customer-support staffing.",
                "Set up the A/B testing platform used by 15 product teams.",
            ],
        ),
        Position(
            "Data Analyst",
            "Ocado Group",
            "2017-09",
            "2020-03",
            "September 2017 – March 2020",
            [
                "Automated weekly reporting with Python and Airflow, saving 10 hours a week.",
            ],
        ),
    ],
    schools=[
        School("MSc Data Science", "University College London", "2016 – 2017"),
        School("BSc Mathematics", "University of Warwick", "2013 – 2016"),
    ],
    skills={
        "Languages": ["Python", "R", "SQL"],
        "Tools": ["pandas", "scikit-learn", "PyTorch", "Airflow", "Tableau"],
        "Methods": ["Forecasting", "A/B Testing", "Causal Inference"],
    },
    achievements=["Kaggle Competitions Expert", "Royal Statistical Society Graduate Statistician"],
)

JAMES = Resume(
    name="James O'Connor",
    email="james.oconnor@example.com",
    phone="312-555-0187",
    location="Chicago, IL",
    links=[],
    summary="Registered nurse with ten years of acute care experience.",
    positions=[
        Position(
            "Charge Nurse",
            "Northwestern Memorial Hospital",
            "2019-06",
            "present",
            "June 2019 – Present",
            [
                "Supervise a team of 12 nurses on a 32-bed medical-surgical unit.",
                "Cut medication errors by 30% by introducing barcode checks.",
            ],
        ),
        Position(
            "Registered Nurse",
            "Rush University Medical Center",
            "2014-07",
            "2019-05",
            "July 2014 – May 2019",
            ["Provided care for post-operative cardiac patients."],
        ),
    ],
    schools=[School("Bachelor of Science in Nursing", "Loyola University Chicago", "2010 – 2014")],
    skills={
        "": [
            "Patient assessment",
            "Medication administration",
            "Electronic Health Records",
            "Wound care",
            "IV therapy",
            "Team leadership",
        ]
    },
    achievements=[
        "Registered Nurse, Illinois License",
        "Advanced Cardiovascular Life Support (ACLS)",
        "DAISY Award for Extraordinary Nurses, 2021",
    ],
)

AIKO = Resume(
    name="Aiko Tanaka",
    email="aiko.tanaka@example.jp",
    phone="+81 3 1234 5678",
    location="Tokyo, Japan",
    links=["github.com/aikotanaka"],
    summary="Mobile engineer building fast, accessible apps.",
    positions=[
        Position(
            "iOS Engineer",
            "Mercari",
            "2019",
            "present",
            "2019 – Present",
            [
                "Rebuilt the listing flow in SwiftUI; crash-free sessions rose to 99.9%.",
                "Introduced snapshot testing across the app.",
            ],
        ),
        Position(
            "Mobile Developer",
            "Rakuten",
            "2016",
            "2019",
            "2016 - 2019",
            ["Shipped the first Android and iOS versions of the points app."],
        ),
    ],
    schools=[School("B.Eng. in Information Engineering", "Keio University", "2012 – 2016")],
    skills={"": ["Swift", "SwiftUI", "Kotlin", "Objective-C", "Firebase", "GraphQL"]},
    achievements=["Apple Design Award finalist, 2022"],
)

DAVID = Resume(
    name="David Kim",
    email="dkim@example.com",
    phone="(206) 555-0123",
    location="Seattle, WA",
    links=["linkedin.com/in/davidkim"],
    summary="Site reliability engineer.",
    positions=[
        Position(
            "Site Reliability Engineer",
            "Amazon Web Services",
            "2018-02",
            "present",
            "Feb 2018 - Present",
            [
                "Run the on-call rotation for a service handling 2 million requests a second.",
                "Wrote the runbooks and game days that halved time to recovery.",
            ],
        ),
        Position(
            "Systems Administrator",
            "University of Washington",
            "2014-09",
            "2018-01",
            "Sep 2014 - Jan 2018",
            ["Managed 400 Linux servers with Ansible."],
        ),
    ],
    schools=[School("B.S. Information Technology", "Western Washington University", "2010 - 2014")],
    skills={"": ["Linux", "Terraform", "Ansible", "Prometheus", "Grafana", "Python", "Bash"]},
    achievements=[
        "AWS Certified Solutions Architect – Professional",
        "CKA: Certified Kubernetes Administrator",
    ],
)

SOFIA = Resume(
    name="Sofia Martinez",
    written_name="SOFIA MARTINEZ",
    email="sofia.martinez@example.com",
    phone="(305) 555-0176",
    location="Miami, FL",
    links=[],
    summary="Account executive who closes enterprise deals.",
    positions=[
        Position(
            "Enterprise Account Executive",
            "Salesforce",
            "2020",
            "present",
            "2020 – Present",
            [
                "Closed $4.2M in new annual recurring revenue in 2023, 135% of quota.",
                "Built a partner channel with three regional integrators.",
            ],
        ),
        Position(
            "Sales Development Representative",
            "HubSpot",
            "2017",
            "2020",
            "2017 – 2020",
            ["Booked 40 qualified meetings a month for the mid-market team."],
        ),
    ],
    schools=[School("BBA in Marketing", "Florida International University", "2013 – 2017")],
    skills={"": ["Salesforce", "Negotiation", "Pipeline management", "Forecasting", "Spanish"]},
    achievements=["President's Club 2021 and 2023", "Rookie of the Year, HubSpot 2018"],
)

TOMAS = Resume(
    name="Tomás Herrera",
    email="tomas.herrera@example.es",
    phone="+34 612 345 678",
    location="Madrid, Spain",
    links=["https://github.com/therrera"],
    summary="Machine learning engineer.",
    positions=[
        Position(
            "Machine Learning Engineer",
            "Cabify",
            "2021-09",
            "present",
            "Sep 2021 – Present",
            [
                "Built the ETA model serving 5,000 predictions a second.",
                "Moved training to Kubeflow, cutting costs by a third.",
            ],
        ),
        Position(
            "Research Assistant",
            "Universidad Politécnica de Madrid",
            "2019-10",
            "2021-08",
            "Oct 2019 – Aug 2021",
            ["Published two papers on graph neural networks."],
        ),
    ],
    schools=[
        School(
            "MSc in Artificial Intelligence", "Universidad Politécnica de Madrid", "2019 – 2021"
        ),
        School("BSc in Computer Engineering", "Universidad de Sevilla", "2015 – 2019"),
    ],
    skills={"": ["Python", "PyTorch", "TensorFlow", "Kubeflow", "Docker", "Spark"]},
    achievements=["Best Paper Award, ECML 2021"],
)

GRACE = Resume(
    name="Grace Liu",
    email="grace.liu@example.com",
    phone="617.555.0110",
    location="Boston, MA",
    links=["linkedin.com/in/graceliu"],
    summary="High-school mathematics teacher.",
    positions=[
        Position(
            "Mathematics Teacher",
            "Boston Latin School",
            "2018-08",
            "present",
            "August 2018 – Present",
            [
                "Teach AP Calculus and Statistics to 150 students a year.",
                "Raised AP pass rates from 71% to 88% in three years.",
            ],
        ),
        Position(
            "Teaching Fellow",
            "Harvard University",
            "2016-09",
            "2018-06",
            "September 2016 – June 2018",
            ["Led sections of an introductory statistics course."],
        ),
    ],
    schools=[
        School(
            "Ed.M. in Teaching and Curriculum",
            "Harvard Graduate School of Education",
            "2016 – 2018",
        ),
        School("B.A. in Mathematics", "Wellesley College", "2012 – 2016"),
    ],
    skills={
        "": [
            "Curriculum Development",
            "Classroom Management",
            "Differentiated Instruction",
            "Desmos",
            "Google Classroom",
        ]
    },
    achievements=["Massachusetts Teacher of the Year finalist, 2023"],
)

OMAR = Resume(
    name="Omar Haddad",
    email="omar.haddad@example.com",
    phone="+971 50 123 4567",
    location="Dubai, UAE",
    links=["linkedin.com/in/omarhaddad"],
    summary="Finance manager with a background in audit.",
    positions=[
        Position(
            "Finance Manager",
            "Emirates NBD",
            "2019-01",
            "present",
            "Jan 2019 – Present",
            [
                "Own the quarterly forecast for a 1.2 billion dirham cost base.",
                "Led the move from spreadsheets to an integrated planning tool.",
            ],
        ),
        Position(
            "Senior Auditor",
            "Deloitte",
            "2014-09",
            "2018-12",
            "Sep 2014 – Dec 2018",
            ["Audited banks and insurers across the Gulf region."],
        ),
    ],
    schools=[
        School(
            "Bachelor of Commerce in Accounting", "American University of Sharjah", "2010 – 2014"
        )
    ],
    skills={"": ["Financial Modeling", "Budgeting", "IFRS", "SAP", "Excel", "Power BI"]},
    achievements=["Chartered Accountant (ACCA)", "CFA Level II candidate"],
)

NADIA = Resume(
    name="Nadia Rahman",
    email="nadia.rahman@example.com",
    phone="+1 (646) 555-0134",
    location="New York, NY",
    links=["github.com/nadiarahman", "linkedin.com/in/nadiarahman"],
    summary="Full-stack engineer; building web products since 2015.",
    positions=[
        Position(
            "Staff Engineer",
            "Etsy",
            "2022-02",
            "present",
            "Feb 2022 – Present",
            ["Lead the checkout platform group of eight engineers."],
        ),
        Position(
            "Senior Engineer",
            "Etsy",
            "2019-05",
            "2022-01",
            "May 2019 – Jan 2022",
            [
                "Rebuilt search ranking in TypeScript and Python; conversion rose 6%.",
                "Introduced feature flags and trunk-based development.",
            ],
        ),
        Position(
            "Web Developer",
            "Squarespace",
            "2015-07",
            "2019-04",
            "Jul 2015 – Apr 2019",
            ["Built the template editor in React."],
        ),
    ],
    schools=[School("B.A. Computer Science", "Columbia University", "2011 – 2015")],
    skills={
        "Frontend": ["TypeScript", "React", "Next.js"],
        "Backend": ["Python", "Django", "PostgreSQL", "Redis"],
        "Practices": ["Testing", "Accessibility", "Code review"],
    },
    achievements=["Etsy Hack Week winner, 2020", "Maintainer of an open-source React date picker"],
    extra={
        "Projects": [
            "Transit Tracker (2021 – 2022): a live map of New York subway delays.",
            "Recipe Box (2018): a PWA for saving recipes offline.",
        ]
    },
)

LUCAS = Resume(
    name="Lucas Ferreira",
    email="lucas.ferreira@example.com.br",
    phone="555.867.5309",
    location="Remote",
    links=["www.lucasferreira.io"],
    summary="DevOps engineer who automates everything.",
    positions=[
        Position(
            "DevOps Engineer",
            "Nubank",
            "2020-03",
            "present",
            "2020/03 - Current",
            [
                "Cut build times from 25 to 6 minutes with remote caching.",
                "Run 300 services on Kubernetes across three regions.",
            ],
        ),
        Position(
            "Systems Engineer",
            "Globo",
            "2017-01",
            "2020-02",
            "2017/01 - 2020/02",
            ["Migrated the video platform to AWS."],
        ),
    ],
    schools=[School("Bachelor of Computer Science", "Universidade de São Paulo", "2012 - 2016")],
    skills={"": ["Kubernetes", "Terraform", "Go", "Python", "Jenkins", "GitHub Actions", "AWS"]},
    achievements=["Certified Kubernetes Security Specialist (CKS)"],
)
