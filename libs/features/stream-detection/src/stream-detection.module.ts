import { Module } from '@nestjs/common';
import { StreamDetectorService } from './stream-detector.service';
import { WindowEncoder } from './window-encoder';
import { WindowSource } from './window-source';

/**
 * The ingestor's stream detectors: windows of inference events in ClickHouse against their
 * reference, results to the metrics topic. Needs ClickHouse, the event bus, configuration and
 * metrics, which the process composes globally.
 */
@Module({ providers: [WindowSource, WindowEncoder, StreamDetectorService], exports: [StreamDetectorService] })
export class StreamDetectionModule {}
