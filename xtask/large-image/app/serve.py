"""A tiny prediction service: POST rows of 4 numbers as JSON, get one score per row."""

import json
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)).eval()
scaler = StandardScaler().fit(np.random.default_rng(0).normal(size=(256, 4)))


def predict(rows):
    x = scaler.transform(pd.DataFrame(rows, dtype="float64").to_numpy())
    with torch.no_grad():
        return model(torch.from_numpy(x).float()).squeeze(1).tolist()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps(predict(rows)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
