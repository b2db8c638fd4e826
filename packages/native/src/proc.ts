import { native } from './loader.js';

/**
 * Field 22 of /proc/<pid>/stat (start time in clock ticks after boot), the identity of a
 * participant (docs/ring.md §5); null when the process does not exist.
 */
export function procStartTime(pid: number): bigint | null {
  return native().procStartTime(pid);
}
