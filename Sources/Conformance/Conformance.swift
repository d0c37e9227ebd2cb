// Scenario model and runner (issue 4).
