"""Staff routes (operator and admin roles). Every write records an audit row
in the same transaction."""
