"""Where commits come from: the GitHub REST API (PyGithub) or any git URL or path."""
