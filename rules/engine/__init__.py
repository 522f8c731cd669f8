"""Rule evaluation: a rule set compiled once into one phrase matcher, and the walk of a
document that turns mentions into flags and explained candidates."""
