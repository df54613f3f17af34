"""Page behaviours: things done to a loaded page so that it shows (and loads) everything."""
