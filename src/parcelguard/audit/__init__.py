"""Third-party audit and transparency: the industry rulebook as code, audit
engagements, scorecards and differentially private public reports (docs/audit.md)."""
