/**
 * Topic filters of the `/events` stream: a comma-separated list of event types, where a pattern
 * ending in `.*` takes a whole family (`emulator.*`) and `*` takes everything.
 */

export class InvalidTopicError extends Error {}

const TOPIC_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\*))*)$/;
const MAX_TOPICS = 32;

/** A parsed filter: its predicate, and a canonical key that equal filters share. */
export interface TopicFilter {
  /** Sorted distinct patterns, `*` for everything: streams with the same key get the same events. */
  readonly key: string;
  readonly accepts: (type: string) => boolean;
}

/** A filter over event types; no filter (or an empty one) accepts every event. */
export function parseTopicFilter(filter: string | undefined): TopicFilter {
  const patterns = (filter ?? '')
    .split(',')
    .map((topic) => topic.trim())
    .filter((topic) => topic.length > 0);
  if (patterns.length > MAX_TOPICS) throw new InvalidTopicError(`at most ${MAX_TOPICS} topics`);
  const matchers = patterns.map(topicMatcher);
  if (patterns.length === 0 || patterns.includes('*')) return { key: '*', accepts: () => true };
  return { key: [...new Set(patterns)].sort().join(','), accepts: (type) => matchers.some((matches) => matches(type)) };
}

function topicMatcher(pattern: string): (type: string) => boolean {
  if (pattern.length > 100 || !TOPIC_PATTERN.test(pattern)) {
    throw new InvalidTopicError(`"${pattern.slice(0, 100)}" is not a topic like emulator.* or workstation.online`);
  }
  if (pattern === '*') return () => true;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -1);
    return (type) => type.startsWith(prefix);
  }
  return (type) => type === pattern;
}
