"""Content upkeep: courses, lessons and assets with their syllabus version, reviews and licences."""
