"""Where a model looks: per-token weights, n-gram contributions, terminal and HTML views.

python -m textattn explain MODEL "a wonderful film with a dull ending" --html view.html
"""
