"""`hymt verify`: prove a deployment works, from the outside, the way its users reach it."""
