"""Emergency drills: fault-injection experiments shaped like Chaos Toolkit's, with time to detect and recover."""
