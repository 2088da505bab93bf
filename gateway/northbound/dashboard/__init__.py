"""The web dashboard: a page for people, served by the HTTP service at ``/`` from files shipped in the package."""
