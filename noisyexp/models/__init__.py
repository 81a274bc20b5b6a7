"""Models built from pluggable activation units; none of them knows about tasks or configs."""
