"""Moving comments in (`threadlog import`) and out (`threadlog export`)."""
