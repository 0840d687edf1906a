"""The Textual app. Talks to AWS only through `keytui.services.Services`, always from worker threads."""
