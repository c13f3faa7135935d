/**
 * Topic filters of the `/events` stream: a comma-separated list of event types, where a pattern
 * ending in `.*` takes a whole family (`emulator.*`) and `*` takes everything.
 */

export class InvalidTopicError extends Error {}

const TOPIC_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\*))*)$/;
const MAX_TOPICS = 32;

/** A predicate over event types; no filter (or an empty one) accepts every event. */
export function parseTopics(filter: string | undefined): (type: string) => boolean {
  const patterns = (filter ?? '')
    .split(',')
    .map((topic) => topic.trim())
    .filter((topic) => topic.length > 0);
  if (patterns.length === 0) return () => true;
  if (patterns.length > MAX_TOPICS) throw new InvalidTopicError(`at most ${MAX_TOPICS} topics`);
  const matchers = patterns.map(topicMatcher);
  return (type) => matchers.some((matches) => matches(type));
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
