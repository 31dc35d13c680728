// Elementwise kernels (CPU twin: frl.backend.cpu.CpuPointwise). float32 math with the same formulas as
// frl.backend.UnaryOp / BinaryOp; op codes are the constants below, mapped from the Java enums in
// frl.backend.cuda.CudaPointwise (never by ordinal).
#include "frl_cuda.cuh"
#include "frl_index.cuh"
#include <math.h>

enum { U_RELU = 0, U_ELU, U_SIGMOID, U_TANH, U_EXP, U_LOG, U_SOFTPLUS, U_SQUARE, U_SQRT, U_NEG, U_CLAMP };
enum { B_ADD = 0, B_SUB, B_MUL, B_DIV };

// a, b: the op's parameters (ELU: alpha; CLAMP: low, high), as doubles so CLAMP compares exactly as
// UnaryOp does in double (a bound that is not a float still splits the floats correctly).
__device__ inline float unary_f(int op, float x, double a, double b) {
    switch (op) {
        case U_RELU: return x > 0.f ? x : 0.f;
        case U_ELU: return x > 0.f ? x : (float)a * expm1f(x);   // frl_cuda.cuh's elu1 for a = 1
        case U_SIGMOID: return sigmoidf(x);
        case U_TANH: return tanhf(x);
        case U_EXP: return expf(x);
        case U_LOG: return logf(x);
        case U_SOFTPLUS: return softplusf(x);
        case U_SQUARE: return x * x;
        case U_SQRT: return sqrtf(x);
        case U_NEG: return -x;
        case U_CLAMP: {   // Math.min(Math.max(x, a), b): NaN in, NaN out
            if (isnan(x) || isnan(a) || isnan(b)) return NAN;
            double t = (double)x < a ? a : (double)x;
            return (float)(t > b ? b : t);
        }
        default: return NAN;
    }
}

// dy * f'(x, y).
__device__ inline float unary_df(int op, float x, float y, float dy, double a, double b) {
    switch (op) {
        case U_RELU: return x > 0.f ? dy : 0.f;
        case U_ELU: return x > 0.f ? dy : dy * (y + (float)a);
        case U_SIGMOID: return dy * (y * (1.f - y));
        case U_TANH: return dy * fmaf(-y, y, 1.f);
        case U_EXP: return dy * y;
        case U_LOG: return dy / x;
        case U_SOFTPLUS: return dy * sigmoidf(x);
        case U_SQUARE: return dy * (x + x);
        case U_SQRT: return dy * 0.5f / y;
        case U_NEG: return -dy;
        case U_CLAMP: return (double)x >= a && (double)x <= b ? dy : 0.f;
        default: return NAN;
    }
}

__device__ inline float binary_f(int op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        default: return NAN;
    }
}

extern "C" __global__ void fill(float* out, long long n, float v) {
    FRL_FOR(i, n) out[i] = v;
}

extern "C" __global__ void unary(const float* x, float* y, long long n, int op, double a, double b) {
    FRL_FOR(i, n) y[i] = unary_f(op, x[i], a, b);
}

extern "C" __global__ void unary_backward(const float* x, const float* y, const float* dy, float* dx, long long n,
                                          int op, double a, double b) {
    FRL_FOR(i, n) dx[i] = unary_df(op, x[i], y[i], dy[i], a, b);
}

// Same shape: out[i] = a[i] op b[i]. out may be a or b.
extern "C" __global__ void binary_same(const float* a, const float* b, float* out, long long n, int op) {
    FRL_FOR(i, n) out[i] = binary_f(op, a[i], b[i]);
}

// One operand dense over the space, the other ("small") one value per index of a single axis:
// small[(i / inner) % count] (a per-channel vector, a scalar, a row). smallIsB says which side it is on.
// n < 2^31 (checked in Java). out may be the dense operand.
extern "C" __global__ void binary_axis(const float* dense, const float* small, float* out, long long n,
                                       int inner, int count, int smallIsB, int op) {
    FRL_FOR(i, n) {
        float s = small[((unsigned int)i / (unsigned int)inner) % (unsigned int)count], d = dense[i];
        out[i] = smallIsB ? binary_f(op, d, s) : binary_f(op, s, d);
    }
}

// Any broadcast: the space and both operands' strides in `space` (frl_index.cuh). n < 2^31.
// out may be an operand whose strides are the dense ones.
extern "C" __global__ void binary_strided(const float* a, const float* b, float* out, long long n, FrlInts space, int op) {
    FRL_FOR(i, n) {
        long long ao, bo;
        frl_offsets2(space, (unsigned int)i, ao, bo);
        out[i] = binary_f(op, a[ao], b[bo]);
    }
}

// y = alpha * x + beta.
extern "C" __global__ void affine(const float* x, float* y, long long n, float alpha, float beta) {
    FRL_FOR(i, n) y[i] = fmaf(alpha, x[i], beta);
}

// y += alpha * x, in place.
extern "C" __global__ void axpy(const float* x, float* y, long long n, float alpha) {
    FRL_FOR(i, n) y[i] = fmaf(alpha, x[i], y[i]);
}

// dst ← src for each row (src, dst, start) of the table, start the row's first element in one range [0, total) over
// all rows (a backward pass's parameter gradients, Backend#copyAll): one launch for up to FRL_TABLE / 3 copies.
extern "C" __global__ void copy_all(FrlTable table, int count, long long total) {
    FRL_FOR(k, total) {
        int lo = 0, hi = count - 1;  // the last row whose start is <= k (rows with no elements are skipped over)
        while (lo < hi) {
            const int mid = (lo + hi + 1) >> 1;
            if (table.v[3 * mid + 2] <= k) lo = mid;
            else hi = mid - 1;
        }
        const long long* e = table.v + 3 * lo;
        ((float*)e[1])[k - e[2]] = ((const float*)e[0])[k - e[2]];
    }
}
