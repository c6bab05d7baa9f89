"""Robot descriptions of the gesture stack; the URDF files live in this package's share directory."""
