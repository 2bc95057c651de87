import { inject, injectable } from '@theia/core/shared/inversify';
import { CollaborationServerConfigService } from '../common/collaboration-server-config';
import { CollaborationEmbeddedServer } from './collaboration-embedded-server';

@injectable()
export class CollaborationServerConfigServiceImpl implements CollaborationServerConfigService {

    @inject(CollaborationEmbeddedServer)
    protected readonly embeddedServer: CollaborationEmbeddedServer;

    getDefaultServerUrl(): Promise<string> {
        return this.embeddedServer.getUrl();
    }
}
