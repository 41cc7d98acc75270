"""Release records and the regression journeys (HTTP checks and browser journeys) run around a deploy."""
