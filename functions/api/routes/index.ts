import type { ApiApp } from '../app';
import type { ApiDeps } from '../deps';

/** Registers one group of routes on the app. */
export type RouteModule = (app: ApiApp, deps: ApiDeps) => void;

/** Every route group of the managers' API, in the order their paths are matched. */
export const routeModules: readonly RouteModule[] = [];
