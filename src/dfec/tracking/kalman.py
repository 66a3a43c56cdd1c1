"""The NSA Kalman filter of StrongSORT (constant velocity in (x, y, a, h) image space).

State: box centre (x, y), aspect ratio a = w / h, height h and their velocities. As in DeepSORT,
process and measurement noise scale with the box height. StrongSORT's NSA variant scales the
measurement noise by (1 - c) for a detection of confidence c, so confident detections pull the
state harder: R_k = (1 - c_k) R_k (on the standard deviations).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg


def xyxy_to_xyah(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64)
    w, h = x2 - x1, max(y2 - y1, 1e-6)
    return np.array([x1 + w / 2, y1 + h / 2, w / h, h])


def xyah_to_xyxy(m: np.ndarray) -> np.ndarray:
    x, y, a, h = np.asarray(m, dtype=np.float64)[:4]
    w = a * h
    return np.array([x - w / 2, y - h / 2, x + w / 2, y + h / 2])


class KalmanFilter:
    """Constant-velocity Kalman filter with DeepSORT noise model and StrongSORT's NSA update."""

    ndim = 4

    def __init__(self, std_weight_position: float = 1.0 / 20, std_weight_velocity: float = 1.0 / 160,
                 nsa: bool = True):
        self.F = np.eye(8)
        self.F[:4, 4:] = np.eye(4)  # dt = 1 frame
        self.H = np.eye(4, 8)
        self.wp = std_weight_position
        self.wv = std_weight_velocity
        self.nsa = nsa

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of a new track from one (x, y, a, h) measurement."""
        mean = np.r_[measurement, np.zeros(4)]
        h = measurement[3]
        std = [2 * self.wp * h, 2 * self.wp * h, 1e-2, 2 * self.wp * h,
               10 * self.wv * h, 10 * self.wv * h, 1e-5, 10 * self.wv * h]
        return mean, np.diag(np.square(std))

    def predict(self, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = mean[3]
        std = [self.wp * h, self.wp * h, 1e-2, self.wp * h, self.wv * h, self.wv * h, 1e-5, self.wv * h]
        q = np.diag(np.square(std))
        return self.F @ mean, self.F @ cov @ self.F.T + q

    def project(self, mean: np.ndarray, cov: np.ndarray, confidence: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Measurement-space mean and covariance; NSA shrinks R by (1 - confidence)."""
        h = mean[3]
        std = np.array([self.wp * h, self.wp * h, 1e-1, self.wp * h])
        if self.nsa:
            std = (1.0 - float(np.clip(confidence, 0.0, 0.999))) * std
        r = np.diag(np.square(std))
        return self.H @ mean, self.H @ cov @ self.H.T + r

    def update(self, mean: np.ndarray, cov: np.ndarray, measurement: np.ndarray,
               confidence: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        pm, pc = self.project(mean, cov, confidence)
        chol = scipy.linalg.cho_factor(pc, lower=True, check_finite=False)
        gain = scipy.linalg.cho_solve(chol, (cov @ self.H.T).T, check_finite=False).T
        innovation = measurement - pm
        new_mean = mean + innovation @ gain.T
        new_cov = cov - gain @ pc @ gain.T
        return new_mean, new_cov

    def gating_distance(self, mean: np.ndarray, cov: np.ndarray, measurements: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each (x, y, a, h) row to the projected state; compare
        with the chi-square 0.95 quantile (9.4877 for 4 dof) to gate impossible pairs."""
        pm, pc = self.project(mean, cov)
        chol = np.linalg.cholesky(pc)
        d = np.atleast_2d(measurements) - pm
        z = scipy.linalg.solve_triangular(chol, d.T, lower=True, check_finite=False)
        return np.sum(z * z, axis=0)
