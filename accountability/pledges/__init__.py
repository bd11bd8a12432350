"""目标责任书 (双线目标责任制): who pledged what to whom for a term, the signed scan, the printable text."""
