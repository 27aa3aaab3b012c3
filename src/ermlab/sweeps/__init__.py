"""Many runs: the sweep callback, the sweep report, resume and launcher glue."""
