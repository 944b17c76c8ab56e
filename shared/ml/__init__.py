"""The LSTM scorer: features (numpy), dataset and metrics (numpy), model (TensorFlow, in
`shared.ml.model` only), artifact metadata, evaluation report and predictor factory.

Importing this package or any module but `shared.ml.model` does not import TensorFlow.
"""
