/* Preloaded beside libfaketime by `make test-clock` (see the Makefile), and only there.
 *
 * libfaketime 0.9.10 fakes CLOCK_MONOTONIC along with the wall clock (it has to: with the
 * monotonic clock left real, it still rewrites monotonic deadlines as if they were wall clock
 * times, which breaks clock_nanosleep, so time.sleep, and every timed wait of the GIL). But it
 * does not intercept sem_clockwait or pthread_cond_clockwait, with which glibc and CPython 3.11
 * wait for a lock with a timeout (threading.Event.wait, Thread.join(timeout), queue.get): the
 * kernel then reads a deadline on the faked clock against the real one, 400 days off, and the
 * wait never ends. Here both calls turn the faked deadline into a real one: the time left on
 * the faked clock (read through libfaketime) added to the kernel's own clock.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct timespec real_deadline(clockid_t clock, const struct timespec *faked_deadline)
{
    struct timespec faked, real, out;
    clock_gettime(clock, &faked);             /* libfaketime's clock */
    syscall(SYS_clock_gettime, clock, &real); /* the kernel's */
    long long left = (faked_deadline->tv_sec - faked.tv_sec) * 1000000000LL
                     + (faked_deadline->tv_nsec - faked.tv_nsec);
    if (left < 0)
        left = 0;
    long long nsec = real.tv_nsec + left % 1000000000LL;
    out.tv_sec = real.tv_sec + left / 1000000000LL + nsec / 1000000000LL;
    out.tv_nsec = nsec % 1000000000LL;
    return out;
}

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime)
{
    static int (*next)(sem_t *, clockid_t, const struct timespec *);
    if (!next)
        next = (int (*)(sem_t *, clockid_t, const struct timespec *))dlsym(RTLD_NEXT, "sem_clockwait");
    struct timespec deadline = real_deadline(clock, abstime);
    return next(sem, clock, &deadline);
}

int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                           const struct timespec *abstime)
{
    static int (*next)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
    if (!next)
        next = (int (*)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *))
            dlsym(RTLD_NEXT, "pthread_cond_clockwait");
    struct timespec deadline = real_deadline(clock, abstime);
    return next(cond, mutex, clock, &deadline);
}
