from setuptools import find_packages, setup

with open("requirements.txt") as handle:
    requirements = [line.strip() for line in handle if line.strip() and not line.startswith("#")]

setup(
    name="glancesync",
    version="0.1.0",
    description="Keep the Glance images of a federation of OpenStack clouds in sync",
    long_description=open("README.rst").read(),
    python_requires=">=3.11",
    packages=find_packages(include=["glancesync", "glancesync.*"]),
    install_requires=requirements,
    extras_require={
        "test": [
            "pytest>=7",
            "pytest-cov",
            "behave>=1.2.6",
            "ruff",
            "docutils",
            "python-glanceclient>=4.0",
            "python-keystoneclient>=5.0",
        ]
    },
    entry_points={
        "console_scripts": [
            "glancesync = glancesync.cli:main",
            "sync.py = glancesync.cli:main",
        ]
    },
)
