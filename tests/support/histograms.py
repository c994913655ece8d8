"""Histograms the hand-worked examples of scores and changes share (answers per option, 1 first)."""

A = [1, 2, 3, 2, 2]  # ten answers: mean 3.2, squares 15.6
B = [0, 0, 2, 4, 4]  # ten answers: mean 4.2, squares 5.6
