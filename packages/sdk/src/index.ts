/**
 * @isthmus/sdk: typed channels over zero-copy shared-memory rings.
 *
 *   import * as isthmus from '@isthmus/sdk';
 *   const node = await isthmus.node();                       // shm, or what ISTHMUS_TRANSPORT / isthmus.json say (docs/config.md)
 *   const pub = await node.publisher('orders', Order, { capacity: 1 << 20 });
 *   const m = pub.loan(); m.qty = 5n; pub.send(m);
 *
 * See docs/sdk.md.
 */
export { node, IsthmusNode, type NodeOptions, type ChannelEntry, type SweepResult } from './node.js';
export { Channel, type ChannelStats, type MessageClass, type OnInvalid, type WaitOptions } from './channel.js';
export { Publisher, Subscriber, type PublisherOptions, type SubscriberOptions } from './pubsub.js';
export { Server, Client, type Handler, type RequestContext, type ServeOptions, type ClientOptions, type CallOptions } from './rpc.js';
export { Queue, QueueProducer, QueueWorker, type QueueOptions, type JobHandler } from './queue.js';
export { DeadLetter, DeadLetterReader } from './deadletter.js';
export { IsthmusError, TimeoutError, PeerDeadError, RejectedError, OverloadedError, NotFoundError, ClosedError, InvalidMessageError, ConfigError, type IsthmusErrorCode } from './errors.js';
export { type Transport, type Region, checkName, whereFor } from './transport.js';
export { inproc, InprocTransport, defaultArena, DEFAULT_ARENA_KEY, type InprocOptions } from './transports/inproc.js';
export { routed, RoutedTransport, matchRoute, type Route } from './transports/routed.js';
export {
  parseTransportUrl,
  parseConfig,
  findConfigFile,
  loadConfig,
  resolveConfig,
  openTransport,
  openConfigured,
  configuredTransport,
  lineColumn,
  TRANSPORT_URL_FORMS,
  CONFIG_FILE_FORM,
  type TransportSpec,
  type RouteSpec,
  type IsthmusConfig,
  type TransportConfig,
  type ConfigLookup,
  type SourceLocation,
} from './config.js';
export { arena, ArenaTransport, ArenaDirectory, pollNotifier, type ArenaOptions, type PollOptions } from './transports/arena.js';
export { shm, ShmTransport, defaultRoot, type ShmOptions } from './transports/shm.js';
export { agent, AgentTransport, type AgentTransportOptions } from './transports/agent.js';
export { connect, listen, NetTransport, Listener, NetError, parseNetUrl, type NetOptions, type ListenOptions, type NetStats, type NetAddress } from './transports/net.js';
export { type Notifier, inProcessNotifier } from './ring/index.js';
export { WasmHost, channelPath, type WasmChannel, type WasmModuleExports } from './wasm.js';
export { inspect, inspectRing, type SystemReport, type ChannelReport, type RegionReport, type RingInfo, type ParticipantInfo } from './inspect.js';
export { listCounters, type CountersRegion, type EndCounters } from './counters.js';
export { metricsText, prometheusText } from './observe/render.js';
