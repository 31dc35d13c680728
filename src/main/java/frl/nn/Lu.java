package frl.nn;

import frl.backend.Rng;

/**
 * A = P·L·U in float64, with partial pivoting: P a permutation matrix, L unit lower triangular, U upper
 * triangular. Glow's invertible 1×1 convolution starts from the LU factors of a random rotation and is
 * inverted through them; both stay in double because float32 rounding drifts the log-determinant and the
 * inverse of a 48×48 matrix visibly.
 */
public record Lu(double[][] p, double[][] lower, double[][] upper) {

    /** Factors a square matrix; a singular one (a zero pivot) is an error. */
    public static Lu of(double[][] a) {
        int n = a.length;
        double[][] u = new double[n][];
        for (int i = 0; i < n; i++) {
            if (a[i].length != n) throw new IllegalArgumentException("LU: row " + i + " has " + a[i].length + " columns, expected " + n);
            u[i] = a[i].clone();
        }
        double[][] l = identity(n);
        int[] rowOf = new int[n];   // P·L·U = A: row i of L·U is row rowOf[i] of A
        for (int i = 0; i < n; i++) rowOf[i] = i;
        for (int k = 0; k < n; k++) {
            int pivot = k;
            for (int i = k + 1; i < n; i++) if (Math.abs(u[i][k]) > Math.abs(u[pivot][k])) pivot = i;
            if (u[pivot][k] == 0) throw new IllegalArgumentException("LU: the matrix is singular (no pivot in column " + k + ")");
            swapRows(u, k, pivot);
            for (int j = 0; j < k; j++) { double t = l[k][j]; l[k][j] = l[pivot][j]; l[pivot][j] = t; }
            int t = rowOf[k]; rowOf[k] = rowOf[pivot]; rowOf[pivot] = t;
            for (int i = k + 1; i < n; i++) {
                double f = u[i][k] / u[k][k];
                l[i][k] = f;
                for (int j = k; j < n; j++) u[i][j] -= f * u[k][j];
                u[i][k] = 0;
            }
        }
        double[][] p = new double[n][n];
        for (int i = 0; i < n; i++) p[rowOf[i]][i] = 1;
        return new Lu(p, l, u);
    }

    /** log |det A| = Σ log |U_ii|. */
    public double logAbsDet() {
        double s = 0;
        for (int i = 0; i < upper.length; i++) s += Math.log(Math.abs(upper[i][i]));
        return s;
    }

    /** A⁻¹ = U⁻¹·L⁻¹·Pᵀ, column by column through forward and back substitution. */
    public double[][] inverse() {
        int n = upper.length;
        double[][] inv = new double[n][n];
        for (int c = 0; c < n; c++) {
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {   // L·y = Pᵀ·e_c
                double s = p[c][i];
                for (int j = 0; j < i; j++) s -= lower[i][j] * y[j];
                y[i] = s;
            }
            for (int i = n - 1; i >= 0; i--) {   // U·x = y
                double s = y[i];
                for (int j = i + 1; j < n; j++) s -= upper[i][j] * inv[j][c];
                inv[i][c] = s / upper[i][i];
            }
        }
        return inv;
    }

    /** A random rotation-or-reflection: the Q of a Gaussian matrix's QR (modified Gram–Schmidt), as Glow draws it. */
    public static double[][] randomOrthogonal(int n, Rng rng) {
        long base = rng.reserveNormals((long) n * n);
        double[][] q = new double[n][n];   // columns are orthonormalised in place
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) q[i][j] = Rng.normal(rng.seed(), base + (long) i * n + j);
        for (int c = 0; c < n; c++) {
            for (int prev = 0; prev < c; prev++) {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += q[i][prev] * q[i][c];
                for (int i = 0; i < n; i++) q[i][c] -= dot * q[i][prev];
            }
            double norm = 0;
            for (int i = 0; i < n; i++) norm += q[i][c] * q[i][c];
            norm = Math.sqrt(norm);
            for (int i = 0; i < n; i++) q[i][c] /= norm;
        }
        return q;
    }

    public static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length, m = b[0].length, inner = b.length;
        double[][] c = new double[n][m];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < inner; k++) {
                double aik = a[i][k];
                for (int j = 0; j < m; j++) c[i][j] += aik * b[k][j];
            }
        return c;
    }

    public static double[][] identity(int n) {
        double[][] e = new double[n][n];
        for (int i = 0; i < n; i++) e[i][i] = 1;
        return e;
    }

    private static void swapRows(double[][] m, int a, int b) {
        double[] t = m[a];
        m[a] = m[b];
        m[b] = t;
    }
}
