package frl.backend;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a backend method that no gradient check needs to reach (allocation, random draws, optimizer
 * updates). Every other method of {@link Backend} must be exercised by the gradient-check suite.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface NotDifferentiable {
    String value();
}
