package frl.nn;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LrScheduleTest {
    @Test void stepLrDecaysEveryStepSize() {
        var s = new LrSchedule.StepLr(3, 0.5);
        double[] want = {1, 1, 1, 0.5, 0.5, 0.5, 0.25};
        for (int t = 0; t < want.length; t++) assertEquals(want[t], s.factor(t), 1e-15, "t=" + t);
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.StepLr(0, 0.5));
    }

    @Test void linearWarmupReachesOneAfterSteps() {
        var w = new LrSchedule.LinearWarmup(4);
        double[] want = {0.25, 0.5, 0.75, 1, 1, 1};
        for (int t = 0; t < want.length; t++) assertEquals(want[t], w.factor(t), 1e-15, "t=" + t);
        var both = w.times(new LrSchedule.StepLr(2, 0.1));
        assertEquals(0.5, both.factor(1), 1e-15);
        assertEquals(0.75 * 0.1, both.factor(2), 1e-15);
        assertEquals(0.01, both.factor(5), 1e-15);
    }
}
