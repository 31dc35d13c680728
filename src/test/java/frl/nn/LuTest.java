package frl.nn;

import frl.backend.Rng;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LuTest {
    private static double[][] random(int n, long seed) {
        Random r = new Random(seed);
        double[][] a = new double[n][n];
        for (double[] row : a) for (int j = 0; j < n; j++) row[j] = r.nextGaussian();
        return a;
    }

    private static void assertMatrix(double[][] want, double[][] got, double tol) {
        for (int i = 0; i < want.length; i++) assertArrayEquals(want[i], got[i], tol, "row " + i);
    }

    @Test void factorsReconstructTheMatrixWithUnitLowerUpperAndAPermutation() {
        for (double[][] a : new double[][][] {random(7, 1), random(48, 2), {{0, 1}, {1, 0}}, {{0, 0, 2}, {0, 3, 1}, {4, 1, 1}}}) {
            Lu lu = Lu.of(a);
            assertMatrix(a, Lu.multiply(Lu.multiply(lu.p(), lu.lower()), lu.upper()), 1e-12);
            int n = a.length;
            for (int i = 0; i < n; i++) {
                assertEquals(1, lu.lower()[i][i]);
                double rowSum = 0, colSum = 0;
                for (int j = 0; j < n; j++) {
                    if (j > i) assertEquals(0, lu.lower()[i][j]);
                    if (j < i) assertEquals(0, lu.upper()[i][j]);
                    if (j < i) assertTrue(Math.abs(lu.lower()[i][j]) <= 1, "partial pivoting keeps |L| ≤ 1");
                    rowSum += lu.p()[i][j];
                    colSum += lu.p()[j][i];
                }
                assertEquals(1, rowSum);
                assertEquals(1, colSum);
            }
        }
    }

    @Test void inverseAndLogDeterminantInDouble() {
        double[][] a = random(48, 3);
        Lu lu = Lu.of(a);
        assertMatrix(Lu.identity(48), Lu.multiply(a, lu.inverse()), 1e-10);
        // det [[0,0,2],[0,3,1],[4,1,1]] = 0·… − 0·… + 2·(0·1 − 3·4) = −24
        assertEquals(Math.log(24), Lu.of(new double[][] {{0, 0, 2}, {0, 3, 1}, {4, 1, 1}}).logAbsDet(), 1e-14);
        // det is multiplicative: log|det(A·B)| = log|det A| + log|det B|
        double[][] b = random(48, 4);
        assertEquals(lu.logAbsDet() + Lu.of(b).logAbsDet(), Lu.of(Lu.multiply(a, b)).logAbsDet(), 1e-9);
    }

    @Test void randomOrthogonalIsOrthogonalAndSeeded() {
        double[][] q = Lu.randomOrthogonal(24, new Rng(7));
        double[][] qt = new double[24][24];
        for (int i = 0; i < 24; i++) for (int j = 0; j < 24; j++) qt[i][j] = q[j][i];
        assertMatrix(Lu.identity(24), Lu.multiply(qt, q), 1e-12);
        assertEquals(0, Lu.of(q).logAbsDet(), 1e-12);
        assertMatrix(q, Lu.randomOrthogonal(24, new Rng(7)), 0);
        assertNotEquals(q[0][0], Lu.randomOrthogonal(24, new Rng(8))[0][0]);
    }

    @Test void singularAndRaggedMatricesAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> Lu.of(new double[][] {{1, 2}, {2, 4}}));
        assertTrue(e.getMessage().contains("singular") && e.getMessage().contains("column 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Lu.of(new double[][] {{1, 2}, {3}}));
        assertTrue(e.getMessage().contains("row 1"), e.getMessage());
    }
}
